-- Usage against payment retention
--
-- Question: do people who use their prosthesis more keep paying for it?
--
-- Users with at least one settled payment (success or failed; pending ones are not settled yet),
-- split into four equal groups by their movements (ml_chip_hourly_stats, all time; quartile 1 = least
-- use, ties broken by user_id); one row per quartile:
--   usage_quartile    1..4 (fewer rows when there are fewer than four users)
--   users             users in the quartile
--   min_movements     fewest movements of a user in the quartile
--   max_movements     most movements of a user in the quartile
--   avg_active_hours  mean number of hours with movements per user
--   settled_payments  settled payments of the quartile's users
--   failed_share      failed / settled payments, 4 decimals
--   retained_users    users whose latest settled payment (by payment_date, then payment_id) succeeded
--   retention_rate    retained_users / users, 4 decimals
--
-- How to read it: a retention_rate rising from quartile 1 to 4 says that use and paying go
-- together (low use is a churn signal worth acting on); a flat one says billing problems are not
-- about use. failed_share separates users who stopped paying from those whose payments fail now
-- and then. Users without movements fall into the lowest quartiles.
WITH
    usage AS
    (
        SELECT user_id, sum(movements_count) AS movements, count() AS active_hours
        FROM ml_chip_hourly_stats
        GROUP BY user_id
    ),
    settled AS
    (
        SELECT
            user_id,
            count() AS payments,
            countIf(status = 'failed') AS failed,
            argMax(status, (payment_date, payment_id)) = 'success' AS retained
        FROM ml_payments
        WHERE status IN ('success', 'failed')
        GROUP BY user_id
    ),
    per_user AS
    (
        SELECT
            s.user_id AS user_id,
            s.payments AS payments,
            s.failed AS failed,
            s.retained AS retained,
            u.movements AS movements,
            u.active_hours AS active_hours,
            ntile(4) OVER (ORDER BY u.movements, s.user_id) AS usage_quartile
        FROM settled AS s
        LEFT JOIN usage AS u ON u.user_id = s.user_id
    )
SELECT
    usage_quartile,
    count() AS users,
    min(movements) AS min_movements,
    max(movements) AS max_movements,
    round(avg(active_hours), 2) AS avg_active_hours,
    sum(payments) AS settled_payments,
    round(sum(failed) / settled_payments, 4) AS failed_share,
    countIf(retained) AS retained_users,
    round(retained_users / users, 4) AS retention_rate
FROM per_user
GROUP BY usage_quartile
ORDER BY usage_quartile
