-- telemetry_db: device telemetry (seed 01 §2.2) and raw movement samples (seeds 02/04).
-- prosthetic_id / chip_id refer to crm_db across databases, so no foreign keys here.

CREATE TABLE IF NOT EXISTS telemetry_events (
    event_id        bigint       PRIMARY KEY,
    prosthetic_id   integer      NOT NULL,
    event_type      varchar(50)  NOT NULL CHECK (event_type IN (
                        'power_on', 'power_off', 'error', 'warning', 'critical_fault',
                        'charging_started', 'charging_stopped', 'calibration', 'firmware_update')),
    event_timestamp timestamptz  NOT NULL,
    event_value     varchar(255),
    severity        varchar(20)  NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    created_at      timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS telemetry_events_device_time_idx ON telemetry_events (prosthetic_id, event_timestamp);

CREATE TABLE IF NOT EXISTS battery_metrics (
    metric_id        bigint           PRIMARY KEY,
    prosthetic_id    integer          NOT NULL,
    metric_timestamp timestamptz      NOT NULL,
    charge_level     double precision NOT NULL CHECK (charge_level BETWEEN 0 AND 100),
    current_ma       double precision NOT NULL,      -- > 0 charging, < 0 discharging
    is_charging      boolean          NOT NULL,
    created_at       timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS battery_metrics_device_time_idx ON battery_metrics (prosthetic_id, metric_timestamp);

CREATE TABLE IF NOT EXISTS raw_telemetry (
    sample_id        bigint       PRIMARY KEY,
    chip_id          varchar(32)  NOT NULL,           -- crm_prosthetics.chip_id
    event_time       timestamptz  NOT NULL,
    response_time_ms integer      NOT NULL CHECK (response_time_ms >= 0),
    battery_level    smallint     NOT NULL CHECK (battery_level BETWEEN 0 AND 100),
    error_code       smallint     NOT NULL DEFAULT 0 CHECK (error_code >= 0)  -- 0 = movement succeeded
);
CREATE INDEX IF NOT EXISTS raw_telemetry_chip_time_idx ON raw_telemetry (chip_id, event_time);

CREATE TABLE IF NOT EXISTS debezium_heartbeat (
    id        integer     PRIMARY KEY,
    beat_at   timestamptz NOT NULL
);

-- Debezium's source signal channel (connectors/README.md "Signals"): `npm run resnapshot -- <table>`
-- inserts an execute-snapshot row; the connector reads it from the WAL, so it is in the publication.
CREATE TABLE IF NOT EXISTS debezium_signal (
    id    varchar(64)   PRIMARY KEY,
    type  varchar(32)   NOT NULL,
    data  varchar(2048)
);

ALTER TABLE telemetry_events   REPLICA IDENTITY FULL;
ALTER TABLE battery_metrics    REPLICA IDENTITY FULL;
ALTER TABLE raw_telemetry      REPLICA IDENTITY FULL;
ALTER TABLE debezium_heartbeat REPLICA IDENTITY FULL;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'bionicpro_telemetry') THEN
        CREATE PUBLICATION bionicpro_telemetry FOR TABLE
            telemetry_events, battery_metrics, raw_telemetry, debezium_heartbeat;
    END IF;
END $$;

-- Publications made before the signal table existed get it added (CREATE above runs only once).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication_tables
                   WHERE pubname = 'bionicpro_telemetry' AND schemaname = 'public' AND tablename = 'debezium_signal') THEN
        ALTER PUBLICATION bionicpro_telemetry ADD TABLE debezium_signal;
    END IF;
END $$;
