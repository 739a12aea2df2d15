-- crm_db: CRM of BionicPRO (seed 01 §2.1, plus login name and chip_id from seeds 02/04).
-- Money is NUMERIC(10,2); every timestamp is timestamptz and the project writes UTC.
-- REPLICA IDENTITY FULL: Debezium must carry the before-image of updates and deletes,
-- the consumers retract it from the marts.

CREATE TABLE IF NOT EXISTS crm_users (
    user_id      integer      PRIMARY KEY,
    user_uuid    varchar(36)  NOT NULL UNIQUE,
    login        varchar(64)  NOT NULL UNIQUE,          -- preferred_username in Keycloak (seed 04 ldap_username)
    first_name   varchar(100) NOT NULL,
    last_name    varchar(100) NOT NULL,
    email        varchar(255) NOT NULL UNIQUE,
    phone        varchar(20),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS crm_prosthetics (
    prosthetic_id     integer      PRIMARY KEY,
    user_id           integer      NOT NULL REFERENCES crm_users (user_id),
    prosthetic_uuid   varchar(36)  NOT NULL UNIQUE,
    chip_id           varchar(32)  NOT NULL UNIQUE,     -- device identity in raw telemetry (seeds 02/04)
    device_type       varchar(50)  NOT NULL CHECK (device_type IN ('left_arm', 'right_arm', 'left_leg', 'right_leg')),
    serial_number     varchar(50)  NOT NULL UNIQUE,
    model             varchar(100) NOT NULL,
    purchase_date     date         NOT NULL,
    warranty_end_date date         NOT NULL,
    is_active         boolean      NOT NULL DEFAULT true,
    created_at        timestamptz  NOT NULL DEFAULT now(),
    updated_at        timestamptz  NOT NULL DEFAULT now(),
    CHECK (warranty_end_date >= purchase_date)
);
CREATE INDEX IF NOT EXISTS crm_prosthetics_user_idx ON crm_prosthetics (user_id);

CREATE TABLE IF NOT EXISTS crm_subscriptions (
    subscription_id   integer       PRIMARY KEY,
    user_id           integer       NOT NULL REFERENCES crm_users (user_id),
    subscription_type varchar(50)   NOT NULL CHECK (subscription_type IN ('basic', 'premium', 'enterprise')),
    start_date        date          NOT NULL,
    end_date          date,                                -- NULL while active
    is_active         boolean       NOT NULL,
    monthly_cost      numeric(10,2) NOT NULL CHECK (monthly_cost >= 0),
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now(),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX IF NOT EXISTS crm_subscriptions_user_idx ON crm_subscriptions (user_id);

CREATE TABLE IF NOT EXISTS crm_payments (
    payment_id      integer       PRIMARY KEY,
    user_id         integer       NOT NULL REFERENCES crm_users (user_id),
    subscription_id integer       NOT NULL REFERENCES crm_subscriptions (subscription_id),
    payment_date    timestamptz   NOT NULL,
    amount          numeric(10,2) NOT NULL CHECK (amount >= 0),
    payment_method  varchar(50)   NOT NULL CHECK (payment_method IN ('card', 'bank_transfer', 'paypal')),
    status          varchar(20)   NOT NULL CHECK (status IN ('success', 'failed', 'pending')),
    description     text,
    created_at      timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS crm_payments_user_date_idx ON crm_payments (user_id, payment_date);
CREATE INDEX IF NOT EXISTS crm_payments_subscription_idx ON crm_payments (subscription_id);

CREATE TABLE IF NOT EXISTS crm_support_tickets (
    ticket_id     integer      PRIMARY KEY,
    user_id       integer      NOT NULL REFERENCES crm_users (user_id),
    prosthetic_id integer      REFERENCES crm_prosthetics (prosthetic_id),
    title         varchar(255) NOT NULL,
    description   text,
    status        varchar(20)  NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    created_at    timestamptz  NOT NULL DEFAULT now(),
    updated_at    timestamptz  NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    CHECK (resolved_at IS NULL OR resolved_at >= created_at)
);
CREATE INDEX IF NOT EXISTS crm_support_tickets_user_idx ON crm_support_tickets (user_id);

-- Debezium heartbeat action target: an idle crm_db still produces WAL the slot can confirm.
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

ALTER TABLE crm_users           REPLICA IDENTITY FULL;
ALTER TABLE crm_prosthetics     REPLICA IDENTITY FULL;
ALTER TABLE crm_subscriptions   REPLICA IDENTITY FULL;
ALTER TABLE crm_payments        REPLICA IDENTITY FULL;
ALTER TABLE crm_support_tickets REPLICA IDENTITY FULL;
ALTER TABLE debezium_heartbeat  REPLICA IDENTITY FULL;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'bionicpro_crm') THEN
        CREATE PUBLICATION bionicpro_crm FOR TABLE
            crm_users, crm_prosthetics, crm_subscriptions, crm_payments, crm_support_tickets, debezium_heartbeat;
    END IF;
END $$;

-- Publications made before the signal table existed get it added (CREATE above runs only once).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication_tables
                   WHERE pubname = 'bionicpro_crm' AND schemaname = 'public' AND tablename = 'debezium_signal') THEN
        ALTER PUBLICATION bionicpro_crm ADD TABLE debezium_signal;
    END IF;
END $$;
