-- Read-only, PII-free views for ML engineers: no names, login, email, phone, free-text ticket or
-- payment descriptions. Dimensions are shown as of now (FINAL hides deleted rows); facts as their
-- net row set (rows whose signed versions sum to > 0).

CREATE VIEW IF NOT EXISTS ${db}.ml_users AS
SELECT user_id, user_uuid, created_at, updated_at
FROM ${db}.dim_users FINAL;

CREATE VIEW IF NOT EXISTS ${db}.ml_prosthetics AS
SELECT prosthetic_id, user_id, prosthetic_uuid, chip_id, device_type, serial_number, model,
       purchase_date, warranty_end_date, is_active, created_at, updated_at
FROM ${db}.dim_prosthetics FINAL;

CREATE VIEW IF NOT EXISTS ${db}.ml_subscriptions AS
SELECT subscription_id, user_id, subscription_type, start_date, end_date, is_active, monthly_cost,
       created_at, updated_at
FROM ${db}.dim_subscriptions FINAL;

CREATE VIEW IF NOT EXISTS ${db}.ml_support_tickets AS
SELECT ticket_id, user_id, prosthetic_id, status, created_at, updated_at, resolved_at
FROM ${db}.dim_support_tickets FINAL;

CREATE VIEW IF NOT EXISTS ${db}.ml_payments AS
SELECT payment_id, user_id, subscription_id, payment_date, amount, payment_method, status
FROM ${db}.payment_changes
GROUP BY payment_id, user_id, subscription_id, payment_date, amount, payment_method, status
HAVING sum(sign) > 0;

CREATE VIEW IF NOT EXISTS ${db}.ml_telemetry_events AS
SELECT event_id, prosthetic_id, event_type, event_timestamp, event_value, severity
FROM ${db}.telemetry_event_changes
GROUP BY event_id, prosthetic_id, event_type, event_timestamp, event_value, severity
HAVING sum(sign) > 0;

CREATE VIEW IF NOT EXISTS ${db}.ml_battery_metrics AS
SELECT metric_id, prosthetic_id, metric_timestamp, charge_level, current_ma, is_charging
FROM ${db}.battery_metric_changes
GROUP BY metric_id, prosthetic_id, metric_timestamp, charge_level, current_ma, is_charging
HAVING sum(sign) > 0;

CREATE VIEW IF NOT EXISTS ${db}.ml_chip_hourly_stats AS
SELECT
    s.chip_id AS chip_id,
    p.prosthetic_id AS prosthesis_id,
    p.user_id AS user_id,
    p.model AS prosthesis_model,
    s.hour AS hour,
    s.movements_count AS movements_count,
    s.successful_movements AS successful_movements,
    s.error_count AS error_count,
    s.response_time_sum / s.movements_count AS avg_response_time,
    s.battery_level_sum / s.movements_count AS avg_battery_level
FROM
(
    SELECT chip_id, hour,
           sumMerge(movements_count) AS movements_count,
           sumMerge(successful_movements) AS successful_movements,
           sumMerge(error_count) AS error_count,
           sumMerge(response_time_sum) AS response_time_sum,
           sumMerge(battery_level_sum) AS battery_level_sum
    FROM ${db}.chip_hourly_stats
    GROUP BY chip_id, hour
    HAVING movements_count != 0
) AS s
INNER JOIN (SELECT prosthetic_id, user_id, chip_id, model FROM ${db}.dim_prosthetics FINAL) AS p ON p.chip_id = s.chip_id;
