-- mv_daily_metrics (the design's, section 4.4) adds up every tenant's bookings in every currency,
-- and a materialized view has no row-level security, so the runtime role may not read it. This
-- one keeps the same figures per tenant and currency; the runtime role reads its own tenant's
-- rows through tenant_daily_metrics() only. Maintenance refreshes it with mv_daily_metrics.
CREATE MATERIALIZED VIEW mv_tenant_daily_metrics AS
SELECT
    tenant_id,
    DATE(created_at) AS date,
    currency,
    COUNT(*) AS bookings,
    SUM(total_amount) AS revenue
FROM bookings
WHERE status = 'confirmed'
GROUP BY tenant_id, DATE(created_at), currency;

-- REFRESH ... CONCURRENTLY needs a unique index over all rows.
CREATE UNIQUE INDEX ux_mv_tenant_daily_metrics ON mv_tenant_daily_metrics (tenant_id, date, currency);
REVOKE ALL ON mv_tenant_daily_metrics FROM PUBLIC;

CREATE FUNCTION tenant_daily_metrics(since date)
RETURNS TABLE (date date, currency char(3), bookings bigint, revenue numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT m.date, m.currency, m.bookings, m.revenue
    FROM public.mv_tenant_daily_metrics m
    WHERE m.tenant_id = (SELECT public.current_tenant_id()) AND m.date >= since
    ORDER BY m.date, m.currency
$$;

REVOKE EXECUTE ON FUNCTION tenant_daily_metrics(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_daily_metrics(date) TO travelhub_app;
