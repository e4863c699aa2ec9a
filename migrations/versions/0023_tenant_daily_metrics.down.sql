DROP FUNCTION IF EXISTS tenant_daily_metrics(date);
DROP MATERIALIZED VIEW IF EXISTS mv_tenant_daily_metrics;
