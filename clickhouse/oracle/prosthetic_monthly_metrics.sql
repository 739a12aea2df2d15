-- Oracle of report_prosthetic_monthly_metrics over telemetry_db (docs/metrics.md §2, §3).
-- $1 = first day of the first month, $2 = first day after the last month (UTC),
-- $3 = prosthetic_dimension.sql rows as a JSON array.
WITH dim AS (
    SELECT * FROM jsonb_to_recordset($3::jsonb)
        AS d(prosthetic_id int, user_id int, user_uuid text, prosthetic_uuid text, device_type text)
),
ev AS (
    SELECT * FROM telemetry_events WHERE prosthetic_id IN (SELECT prosthetic_id FROM dim)
),
bm AS (
    SELECT * FROM battery_metrics WHERE prosthetic_id IN (SELECT prosthetic_id FROM dim)
),
counts AS (
    SELECT prosthetic_id,
           date_trunc('month', event_timestamp AT TIME ZONE 'UTC') AS bucket,
           count(*) FILTER (WHERE event_type = 'power_on') AS power_on_count,
           count(*) FILTER (WHERE event_type = 'power_off') AS power_off_count,
           count(*) FILTER (WHERE severity = 'warning') AS warning_count,
           count(*) FILTER (WHERE severity = 'error') AS error_count,
           count(*) FILTER (WHERE severity = 'critical') AS critical_error_count
    FROM ev
    WHERE event_timestamp >= ($1::timestamp AT TIME ZONE 'UTC') AND event_timestamp < ($2::timestamp AT TIME ZONE 'UTC')
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
outages AS (
    SELECT prosthetic_id, ts AS start_ts, next_end AS end_ts
    FROM (
        SELECT prosthetic_id, ts, is_start,
               coalesce(lag(is_start) OVER w, false) AS prev_is_start,
               -- The first end after this row: a running min in reverse order (linear; a frame reaching
               -- UNBOUNDED FOLLOWING is re-aggregated per row, quadratic per prosthesis).
               min(ts) FILTER (WHERE NOT is_start) OVER (PARTITION BY prosthetic_id ORDER BY ts DESC, event_id DESC
                                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS next_end
        FROM (SELECT prosthetic_id, event_id, event_timestamp AS ts, event_type <> 'power_on' AS is_start
              FROM ev WHERE severity = 'critical' OR event_type = 'power_on') x
        WINDOW w AS (PARTITION BY prosthetic_id ORDER BY ts, event_id)
    ) y
    WHERE is_start AND NOT prev_is_start AND next_end > ts
),
active AS (
    SELECT prosthetic_id, bucket, sum(us) AS us
    FROM (
        SELECT prosthetic_id, b AS bucket,
               ((extract(epoch FROM least(end_ts, (b + interval '1 month') AT TIME ZONE 'UTC'))
                 - extract(epoch FROM greatest(start_ts, b AT TIME ZONE 'UTC'))) * 1000000)::bigint AS us
        FROM sessions,
             generate_series(date_trunc('month', start_ts AT TIME ZONE 'UTC'),
                             date_trunc('month', end_ts AT TIME ZONE 'UTC'), interval '1 month') AS b
    ) o
    WHERE us > 0 AND bucket >= $1::timestamp AND bucket < $2::timestamp
    GROUP BY 1, 2
),
down AS (
    SELECT prosthetic_id, bucket, sum(us) AS us
    FROM (
        SELECT prosthetic_id, b AS bucket,
               ((extract(epoch FROM least(end_ts, (b + interval '1 month') AT TIME ZONE 'UTC'))
                 - extract(epoch FROM greatest(start_ts, b AT TIME ZONE 'UTC'))) * 1000000)::bigint AS us
        FROM outages,
             generate_series(date_trunc('month', start_ts AT TIME ZONE 'UTC'),
                             date_trunc('month', end_ts AT TIME ZONE 'UTC'), interval '1 month') AS b
    ) o
    WHERE us > 0 AND bucket >= $1::timestamp AND bucket < $2::timestamp
    GROUP BY 1, 2
),
bat AS (
    SELECT prosthetic_id,
           date_trunc('month', metric_timestamp AT TIME ZONE 'UTC') AS bucket,
           count(*) FILTER (WHERE is_charging) AS charging_count,
           sum(current_ma) FILTER (WHERE is_charging) AS charging_ma_sum
    FROM bm
    WHERE metric_timestamp >= ($1::timestamp AT TIME ZONE 'UTC') AND metric_timestamp < ($2::timestamp AT TIME ZONE 'UTC')
    GROUP BY 1, 2
),
dis AS (
    -- A discharge metric is active when a session holds it: start_ts <= metric < end_ts. One ordered
    -- pass per prosthesis: session starts and metrics in time order (a start before a metric at the
    -- same instant); the metric is inside a session iff the latest end among the sessions started
    -- at or before it lies after it. (A range join is quadratic per prosthesis.)
    SELECT prosthetic_id,
           date_trunc('month', ts AT TIME ZONE 'UTC') AS bucket,
           sum(-current_ma) FILTER (WHERE in_session) AS active_ma_sum,
           count(*) FILTER (WHERE in_session) AS active_count,
           sum(-current_ma) FILTER (WHERE NOT in_session) AS idle_ma_sum,
           count(*) FILTER (WHERE NOT in_session) AS idle_count
    FROM (
        SELECT prosthetic_id, ts, current_ma, is_metric,
               coalesce(max(end_ts) OVER (PARTITION BY prosthetic_id ORDER BY ts, ord, id
                                          ROWS UNBOUNDED PRECEDING) > ts, false) AS in_session
        FROM (
            SELECT prosthetic_id, start_ts AS ts, 0 AS ord, 0::bigint AS id, end_ts,
                   NULL::double precision AS current_ma, false AS is_metric
            FROM sessions
            UNION ALL
            SELECT prosthetic_id, metric_timestamp, 1, metric_id, NULL, current_ma, true
            FROM bm
            WHERE NOT is_charging AND current_ma < 0
              AND metric_timestamp >= ($1::timestamp AT TIME ZONE 'UTC') AND metric_timestamp < ($2::timestamp AT TIME ZONE 'UTC')
        ) u
    ) v
    WHERE is_metric
    GROUP BY 1, 2
),
cyc AS (
    SELECT prosthetic_id, date_trunc('month', metric_timestamp AT TIME ZONE 'UTC') AS bucket,
           count(*) FILTER (WHERE is_high AND NOT prev_high) AS charge_cycles
    FROM (
        SELECT prosthetic_id, metric_timestamp, charge_level > 95 AS is_high,
               coalesce(lag(charge_level > 95) OVER (PARTITION BY prosthetic_id ORDER BY metric_timestamp, metric_id), true) AS prev_high
        FROM bm
        WHERE charge_level < 50 OR charge_level > 95
    ) x
    WHERE metric_timestamp >= ($1::timestamp AT TIME ZONE 'UTC') AND metric_timestamp < ($2::timestamp AT TIME ZONE 'UTC')
    GROUP BY 1, 2
),
keys AS (
    SELECT prosthetic_id, bucket FROM counts
    UNION SELECT prosthetic_id, bucket FROM bat
    UNION SELECT prosthetic_id, bucket FROM active
    UNION SELECT prosthetic_id, bucket FROM down
)
SELECT to_char(k.bucket, 'YYYY-MM-DD') AS report_date,
       k.prosthetic_id,
       d.user_id,
       d.user_uuid,
       d.prosthetic_uuid,
       d.device_type,
       coalesce(c.power_on_count, 0) AS power_on_count,
       coalesce(c.power_off_count, 0) AS power_off_count,
       coalesce(a.us, 0)::float8 / 3600000000 AS total_active_hours,
       CASE WHEN coalesce(x.active_count, 0) = 0 THEN 0 ELSE x.active_ma_sum / x.active_count END AS avg_discharge_rate_active,
       CASE WHEN coalesce(x.idle_count, 0) = 0 THEN 0 ELSE x.idle_ma_sum / x.idle_count END AS avg_discharge_rate_idle,
       CASE WHEN coalesce(b.charging_count, 0) = 0 THEN 0 ELSE b.charging_ma_sum / b.charging_count END AS avg_charge_rate,
       coalesce(y.charge_cycles, 0) AS charge_cycles,
       coalesce(c.warning_count, 0) AS warning_count,
       coalesce(c.error_count, 0) AS error_count,
       coalesce(c.critical_error_count, 0) AS critical_error_count,
       div(coalesce(dn.us, 0), 60000000)::bigint AS downtime_minutes
FROM keys k
JOIN dim d ON d.prosthetic_id = k.prosthetic_id
LEFT JOIN counts c ON c.prosthetic_id = k.prosthetic_id AND c.bucket = k.bucket
LEFT JOIN bat b ON b.prosthetic_id = k.prosthetic_id AND b.bucket = k.bucket
LEFT JOIN active a ON a.prosthetic_id = k.prosthetic_id AND a.bucket = k.bucket
LEFT JOIN down dn ON dn.prosthetic_id = k.prosthetic_id AND dn.bucket = k.bucket
LEFT JOIN dis x ON x.prosthetic_id = k.prosthetic_id AND x.bucket = k.bucket
LEFT JOIN cyc y ON y.prosthetic_id = k.prosthetic_id AND y.bucket = k.bucket
ORDER BY d.user_id, k.prosthetic_id, k.bucket
