-- Oracle of report_user_monthly_metrics over crm_db (docs/metrics.md §1).
-- $1 = first day of the first month, $2 = first day after the last month. Months are UTC.
WITH months AS (
    SELECT m::date AS month
    FROM generate_series($1::timestamp, $2::timestamp - interval '1 month', interval '1 month') AS m
),
pay AS (
    SELECT user_id,
           date_trunc('month', payment_date AT TIME ZONE 'UTC')::date AS month,
           sum(amount) AS total_payments,
           coalesce(sum(amount) FILTER (WHERE status = 'success'), 0) AS successful_payments,
           coalesce(sum(amount) FILTER (WHERE status = 'failed'), 0) AS failed_payments,
           coalesce(sum(amount) FILTER (WHERE status = 'pending'), 0) AS pending_payments,
           count(*) FILTER (WHERE status = 'failed') AS failed_payments_count
    FROM crm_payments
    WHERE payment_date >= ($1::timestamp AT TIME ZONE 'UTC')
      AND payment_date < ($2::timestamp AT TIME ZONE 'UTC')
    GROUP BY 1, 2
),
subs AS (
    SELECT s.user_id, m.month,
           count(*) AS active_subscriptions_count,
           sum(s.monthly_cost) AS subscription_cost_total
    FROM crm_subscriptions s
    JOIN months m ON s.start_date < m.month + interval '1 month'
                 AND (s.end_date IS NULL OR s.end_date >= m.month)
    GROUP BY 1, 2
)
SELECT to_char(coalesce(p.month, s.month), 'YYYY-MM-DD') AS report_date,
       coalesce(p.user_id, s.user_id) AS user_id,
       coalesce(u.user_uuid, '') AS user_uuid,
       coalesce(p.total_payments, 0)::text AS total_payments,
       coalesce(p.successful_payments, 0)::text AS successful_payments,
       coalesce(p.failed_payments, 0)::text AS failed_payments,
       coalesce(p.pending_payments, 0)::text AS pending_payments,
       coalesce(p.failed_payments_count, 0) AS failed_payments_count,
       coalesce(s.active_subscriptions_count, 0) AS active_subscriptions_count,
       coalesce(s.subscription_cost_total, 0)::text AS subscription_cost_total
FROM pay p
FULL JOIN subs s ON s.user_id = p.user_id AND s.month = p.month
LEFT JOIN crm_users u ON u.user_id = coalesce(p.user_id, s.user_id)
ORDER BY 2, 1
