-- Oracle of user_prosthesis_stats over telemetry_db (docs/metrics.md §4).
-- $1 = grain ('hour' | 'day' | 'month'), $2 = first day of the first month, $3 = first day after
-- the last month (UTC), $4 = prosthetic_dimension.sql rows as a JSON array (joined by chip_id).
WITH dim AS (
    SELECT * FROM jsonb_to_recordset($4::jsonb)
        AS d(prosthetic_id int, user_id int, chip_id text, model text, customer_name text)
),
stats AS (
    SELECT chip_id,
           date_trunc($1::text, event_time AT TIME ZONE 'UTC') AS period,
           count(*) AS movements_count,
           count(*) FILTER (WHERE error_code = 0) AS successful_movements,
           count(*) FILTER (WHERE error_code > 0) AS error_count,
           sum(response_time_ms) AS response_time_sum,
           sum(battery_level) AS battery_level_sum
    FROM raw_telemetry
    WHERE event_time >= ($2::timestamp AT TIME ZONE 'UTC') AND event_time < ($3::timestamp AT TIME ZONE 'UTC')
      AND chip_id IN (SELECT chip_id FROM dim)
    GROUP BY 1, 2
)
SELECT d.user_id,
       d.prosthetic_id AS prosthesis_id,
       s.chip_id,
       to_char(s.period, 'YYYY-MM-DD') AS report_date,
       CASE WHEN $1::text = 'hour' THEN extract(hour FROM s.period)::int END AS report_hour,
       d.customer_name,
       d.model AS prosthesis_model,
       s.movements_count,
       s.successful_movements,
       s.response_time_sum::float8 / s.movements_count AS avg_response_time,
       s.battery_level_sum::float8 / s.movements_count AS avg_battery_level,
       s.error_count
FROM stats s
JOIN dim d ON d.chip_id = s.chip_id
ORDER BY d.user_id, d.prosthetic_id, s.period
