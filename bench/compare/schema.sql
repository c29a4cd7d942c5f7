-- The traditional synchronous checkout's tables (bench/compare.sh, PostgreSQL).
-- 1,000 products; stock large enough never to run out during a run, so every
-- transaction is a real sale. :stock is set by compare.sh (psql -v stock=...).
CREATE TABLE inventory (sku int PRIMARY KEY, stock bigint);
CREATE TABLE orders (id bigserial PRIMARY KEY, sku int, buyer int, created_at timestamptz DEFAULT now());
INSERT INTO inventory SELECT sku, :stock FROM generate_series(1, 1000) AS sku;
