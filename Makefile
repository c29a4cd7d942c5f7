# The two commands (see README.md):
# Conveniences for the scripts the README names (bash scripts/demo.sh,
# bash scripts/test.sh), for machines that already have make.
#   make demo   install what is missing, build, run the demo server
#   make test   install what is missing, build, run the whole test suite
.PHONY: demo test build bench clean

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

build:
	bash scripts/setup.sh
	bash scripts/build.sh release

bench:
	bash scripts/setup.sh
	bash scripts/build.sh release
	bash bench/run_all.sh

clean:
	rm -rf build
