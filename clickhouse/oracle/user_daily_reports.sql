-- Oracle of user_daily_reports over telemetry_db (docs/metrics.md §5).
-- $1 = first day of the first month, $2 = first day after the last month (UTC),
-- $3 = prosthetic_dimension.sql rows as a JSON array (current owner of each prosthesis).
WITH dim AS (
    SELECT * FROM jsonb_to_recordset($3::jsonb)
        AS d(prosthetic_id int, user_id int, user_uuid text, chip_id text)
),
hourly AS (
    SELECT chip_id,
           date_trunc('hour', event_time AT TIME ZONE 'UTC') AS hour,
           count(*) AS movements,
           count(*) FILTER (WHERE error_code = 0) AS successful,
           count(*) FILTER (WHERE error_code > 0) AS errors,
           sum(response_time_ms) AS response_time_sum,
           sum(battery_level) AS battery_level_sum
    FROM raw_telemetry
    WHERE event_time >= ($1::timestamp AT TIME ZONE 'UTC') AND event_time < ($2::timestamp AT TIME ZONE 'UTC')
      AND chip_id IN (SELECT chip_id FROM dim)
    GROUP BY 1, 2
),
mov AS (
    SELECT d.user_id,
           date_trunc('day', h.hour) AS day,
           sum(h.movements) AS total_movements,
           sum(h.successful) AS successful_movements,
           sum(h.errors) AS total_errors,
           sum(h.response_time_sum) AS response_time_sum,
           sum(h.battery_level_sum) AS battery_level_sum,
           count(DISTINCT h.hour) AS uptime_hours,
           count(DISTINCT d.prosthetic_id) AS prostheses_count
    FROM hourly h
    JOIN dim d ON d.chip_id = h.chip_id
    GROUP BY 1, 2
),
ev AS (
    SELECT * FROM telemetry_events WHERE prosthetic_id IN (SELECT prosthetic_id FROM dim)
),
evd AS (
    SELECT d.user_id,
           date_trunc('day', e.event_timestamp AT TIME ZONE 'UTC') AS day,
           count(*) FILTER (WHERE e.event_type = 'power_on') AS power_on_count,
           count(*) FILTER (WHERE e.severity = 'warning') AS warning_count,
           count(*) FILTER (WHERE e.severity = 'error') AS error_event_count,
           count(*) FILTER (WHERE e.severity = 'critical') AS critical_error_count
    FROM ev e
    JOIN dim d ON d.prosthetic_id = e.prosthetic_id
    WHERE e.event_timestamp >= ($1::timestamp AT TIME ZONE 'UTC') AND e.event_timestamp < ($2::timestamp AT TIME ZONE 'UTC')
    GROUP BY 1, 2
),
sessions AS (
    SELECT prosthetic_id, ts AS start_ts, next_end AS end_ts
    FROM (
        SELECT prosthetic_id, ts, is_start,
               coalesce(lag(is_start) OVER w, false) AS prev_is_start,
               -- The first end after this row: a running min in reverse order (linear; a frame reaching
               -- UNBOUNDED FOLLOWING is re-aggregated per row, quadratic per prosthesis).
               min(ts) FILTER (WHERE NOT is_start) OVER (PARTITION BY prosthetic_id ORDER BY ts DESC, event_id DESC
                                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS next_end
        FROM (SELECT prosthetic_id, event_id, event_timestamp AS ts, event_type = 'power_on' AS is_start
              FROM ev WHERE event_type IN ('power_on', 'power_off')) x
        WINDOW w AS (PARTITION BY prosthetic_id ORDER BY ts, event_id)
    ) y
    WHERE is_start AND NOT prev_is_start AND next_end > ts
),
usage AS (
    SELECT d.user_id, o.bucket AS day, sum(o.us) AS us
    FROM (
        SELECT prosthetic_id, b AS bucket,
               ((extract(epoch FROM least(end_ts, (b + interval '1 day') AT TIME ZONE 'UTC'))
                 - extract(epoch FROM greatest(start_ts, b AT TIME ZONE 'UTC'))) * 1000000)::bigint AS us
        FROM sessions,
             generate_series(date_trunc('day', start_ts AT TIME ZONE 'UTC'),
                             date_trunc('day', end_ts AT TIME ZONE 'UTC'), interval '1 day') AS b
        WHERE end_ts > ($1::timestamp AT TIME ZONE 'UTC') AND start_ts < ($2::timestamp AT TIME ZONE 'UTC')
    ) o
    JOIN dim d ON d.prosthetic_id = o.prosthetic_id
    WHERE o.us > 0 AND o.bucket >= $1::timestamp AND o.bucket < $2::timestamp
    GROUP BY 1, 2
),
keys AS (
    SELECT user_id, day FROM mov
    UNION SELECT user_id, day FROM evd
    UNION SELECT user_id, day FROM usage
)
SELECT to_char(k.day, 'YYYY-MM-DD') AS report_date,
       k.user_id,
       coalesce((SELECT min(user_uuid) FROM dim WHERE dim.user_id = k.user_id), '') AS user_uuid,
       coalesce(m.prostheses_count, 0) AS prostheses_count,
       coalesce(m.total_movements, 0) AS total_movements,
       coalesce(m.successful_movements, 0) AS successful_movements,
       CASE WHEN coalesce(m.total_movements, 0) = 0 THEN 0 ELSE m.successful_movements::float8 / m.total_movements END AS movement_success_rate,
       CASE WHEN coalesce(m.total_movements, 0) = 0 THEN 0 ELSE m.response_time_sum::float8 / m.total_movements END AS avg_response_time_ms,
       CASE WHEN coalesce(m.total_movements, 0) = 0 THEN 0 ELSE m.battery_level_sum::float8 / m.total_movements END AS avg_battery_level,
       coalesce(m.total_errors, 0) AS total_errors,
       coalesce(m.uptime_hours, 0) AS uptime_hours,
       coalesce(u.us, 0)::float8 / 3600000000 AS usage_hours,
       coalesce(e.power_on_count, 0) AS power_on_count,
       coalesce(e.warning_count, 0) AS warning_count,
       coalesce(e.error_event_count, 0) AS error_event_count,
       coalesce(e.critical_error_count, 0) AS critical_error_count
FROM keys k
LEFT JOIN mov m ON m.user_id = k.user_id AND m.day = k.day
LEFT JOIN evd e ON e.user_id = k.user_id AND e.day = k.day
LEFT JOIN usage u ON u.user_id = k.user_id AND u.day = k.day
ORDER BY k.user_id, k.day
