-- pgbench script: one synchronous "Buy Now" as a traditional shop does it, in one
-- transaction: take a unit off the product's row, then record the order. The row
-- lock is held until the commit is flushed, so buyers of one product queue behind
-- each other's fsync. :products is 1 (one hot product, sku 1) or 1000 (spread).
\set sku random(1, :products)
\set buyer random(1, 1000000)
BEGIN;
UPDATE inventory SET stock = stock - 1 WHERE sku = :sku AND stock > 0;
INSERT INTO orders(sku, buyer) VALUES (:sku, :buyer);
END;
