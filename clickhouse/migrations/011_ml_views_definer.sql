-- The ml_* views read their tables with the rights of their definer (the user that ran the
-- migrations), so that in server mode a grant of SELECT on the views alone lets the role ml_reader
-- read them (clickhouse/access/ml_readonly.sql) while dim_*, *_changes and the mart tables stay
-- unreadable to it. ClickHouse 24.2+ creates normal views with SQL SECURITY INVOKER by default
-- (setting default_normal_view_sql_security): the reader would need SELECT on every underlying
-- table, personal columns included. Keep this list equal to clickhouse/access/ml-views.ts.

ALTER TABLE ${db}.ml_users MODIFY SQL SECURITY DEFINER;
ALTER TABLE ${db}.ml_prosthetics MODIFY SQL SECURITY DEFINER;
ALTER TABLE ${db}.ml_subscriptions MODIFY SQL SECURITY DEFINER;
ALTER TABLE ${db}.ml_support_tickets MODIFY SQL SECURITY DEFINER;
ALTER TABLE ${db}.ml_payments MODIFY SQL SECURITY DEFINER;
ALTER TABLE ${db}.ml_telemetry_events MODIFY SQL SECURITY DEFINER;
ALTER TABLE ${db}.ml_battery_metrics MODIFY SQL SECURITY DEFINER;
ALTER TABLE ${db}.ml_chip_hourly_stats MODIFY SQL SECURITY DEFINER;
