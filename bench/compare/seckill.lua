-- The usual Redis "seckill" (flash sale) step, run atomically by EVALSHA:
-- KEYS[1] the product's stock counter, KEYS[2] the orders stream, ARGV[1] the buyer.
-- Takes a unit if one is left and appends the order; returns 1 (sold) or 0 (sold out).
local stock = tonumber(redis.call('GET', KEYS[1]) or '0')
if stock <= 0 then
  return 0
end
redis.call('DECR', KEYS[1])
redis.call('XADD', KEYS[2], '*', 'buyer', ARGV[1])
return 1
