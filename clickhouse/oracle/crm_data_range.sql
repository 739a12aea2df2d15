-- First and last UTC month holding CRM facts (payments, subscription starts and ends).
SELECT to_char(min(m), 'YYYY-MM') AS first_month, to_char(max(m), 'YYYY-MM') AS last_month
FROM (
    SELECT date_trunc('month', payment_date AT TIME ZONE 'UTC') AS m FROM crm_payments
    UNION ALL SELECT date_trunc('month', start_date) FROM crm_subscriptions
    UNION ALL SELECT date_trunc('month', end_date) FROM crm_subscriptions WHERE end_date IS NOT NULL
) x
