// Names the calling thread (shown by top -H, perf and gdb). Linux keeps at
// most 15 characters; longer names are cut.
#pragma once

#include <pthread.h>

#include <string>

namespace hawker {

inline void set_thread_name(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace hawker
