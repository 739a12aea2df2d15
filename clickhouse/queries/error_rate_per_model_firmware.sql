-- Movement error rate per model, firmware and device age
--
-- Question: which models fail movements more often, and does it depend on the firmware they run
-- or on how old the device is?
--
-- One row per prosthesis model, firmware version and device age with movements
-- (ml_chip_hourly_stats per chip and hour; the firmware from ml_telemetry_events of type
-- firmware_update; the purchase date from ml_prosthetics):
--   model             prosthesis model
--   firmware          the version of the device's latest firmware_update at or before the start
--                     of the hour (event_value), 'factory' before its first update
--   device_age_years  whole years from the purchase date to the hour
--   device_hours      (device, hour) pairs with movements
--   movements         movements
--   errors            failed movements (raw_telemetry.error_code != 0)
--   error_rate        errors / movements, 4 decimals
--
-- How to read it: within a model, compare the firmware rows (a release that raises error_rate is a
-- regression); across device_age_years, a rate that grows with age points at wear rather than
-- software. Rows with few device_hours are noise. An update inside an hour counts from the next hour.
WITH firmware AS
(
    SELECT prosthetic_id, toDateTime(event_timestamp, 'UTC') AS installed_at, event_value AS version
    FROM ml_telemetry_events
    WHERE event_type = 'firmware_update'
)
SELECT
    h.prosthesis_model AS model,
    coalesce(f.version, 'factory') AS firmware,
    intDiv(dateDiff('month', p.purchase_date, h.hour), 12) AS device_age_years,
    count() AS device_hours,
    sum(h.movements_count) AS movements,
    sum(h.error_count) AS errors,
    round(errors / movements, 4) AS error_rate
FROM ml_chip_hourly_stats AS h
INNER JOIN ml_prosthetics AS p ON p.prosthetic_id = h.prosthesis_id
ASOF LEFT JOIN firmware AS f ON f.prosthetic_id = h.prosthesis_id AND h.hour >= f.installed_at
GROUP BY model, firmware, device_age_years
ORDER BY model, firmware, device_age_years
