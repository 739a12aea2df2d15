-- Battery degradation per model
--
-- Question: do the batteries of some prosthesis models hold less charge, or drain faster, as the
-- months go by?
--
-- One row per prosthesis model and UTC month with battery samples (ml_battery_metrics joined to
-- ml_prosthetics for the model):
--   model              prosthesis model (ml_prosthetics.model)
--   month              first day of the UTC month of the samples
--   devices            prostheses of that model with at least one sample in the month
--   samples            battery samples
--   avg_charge_level   mean charge level (%) over all samples
--   avg_charging_peak  mean over device-days with a charging sample of the day's highest charge
--                      level while charging (%): how full a charge gets; NULL without charging
--   avg_discharge_ma   mean current (mA) of the samples taken while not charging (negative =
--                      drain); NULL without such samples
--
-- How to read it: follow one model down the months. A falling avg_charging_peak means its
-- batteries no longer charge full (capacity loss); an avg_discharge_ma moving further below zero
-- means they drain faster for the same use. Compare models over the same months; devices says how
-- much each row rests on. Rounded to 2 decimals.
WITH daily AS
(
    SELECT
        prosthetic_id,
        toDate(metric_timestamp) AS day,
        count() AS samples,
        sum(charge_level) AS level_sum,
        maxIf(charge_level, is_charging) AS charging_peak,
        countIf(is_charging) AS charging_samples,
        sumIf(current_ma, NOT is_charging) AS discharge_ma_sum,
        countIf(NOT is_charging) AS discharge_samples
    FROM ml_battery_metrics
    GROUP BY prosthetic_id, day
)
SELECT
    p.model AS model,
    toStartOfMonth(d.day) AS month,
    uniqExact(d.prosthetic_id) AS devices,
    sum(d.samples) AS samples,
    round(sum(d.level_sum) / sum(d.samples), 2) AS avg_charge_level,
    round(avgOrNullIf(d.charging_peak, d.charging_samples > 0), 2) AS avg_charging_peak,
    round(sum(d.discharge_ma_sum) / nullIf(sum(d.discharge_samples), 0), 2) AS avg_discharge_ma
FROM daily AS d
INNER JOIN ml_prosthetics AS p ON p.prosthetic_id = d.prosthetic_id
GROUP BY model, month
ORDER BY model, month
