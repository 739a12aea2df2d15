-- Current prostheses with their owner, from crm_db: handed to the telemetry_db oracles as JSON
-- (PostgreSQL cannot join across databases). Telemetry of prostheses not listed here is not reported.
SELECT p.prosthetic_id,
       p.user_id,
       coalesce(u.user_uuid, '') AS user_uuid,
       p.prosthetic_uuid,
       p.chip_id,
       p.device_type,
       p.model,
       btrim(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')) AS customer_name
FROM crm_prosthetics p
LEFT JOIN crm_users u ON u.user_id = p.user_id
ORDER BY p.prosthetic_id
