-- First and last UTC month holding telemetry (events, battery metrics, raw samples).
SELECT to_char(min(m) AT TIME ZONE 'UTC', 'YYYY-MM') AS first_month, to_char(max(m) AT TIME ZONE 'UTC', 'YYYY-MM') AS last_month
FROM (
    SELECT min(event_timestamp) AS m FROM telemetry_events
    UNION ALL SELECT max(event_timestamp) FROM telemetry_events
    UNION ALL SELECT min(metric_timestamp) FROM battery_metrics
    UNION ALL SELECT max(metric_timestamp) FROM battery_metrics
    UNION ALL SELECT min(event_time) FROM raw_telemetry
    UNION ALL SELECT max(event_time) FROM raw_telemetry
) x
