/** telemetry_events.event_type and .severity enumerations (postgres/002_telemetry_db.sql). */
export type EventType =
  | "power_on"
  | "power_off"
  | "error"
  | "warning"
  | "critical_fault"
  | "charging_started"
  | "charging_stopped"
  | "calibration"
  | "firmware_update";

export type Severity = "info" | "warning" | "error" | "critical";

/** Severity is a function of the type: the marts count warnings/errors/critical faults by either. */
export function severityOf(type: EventType): Severity {
  switch (type) {
    case "warning":
      return "warning";
    case "error":
      return "error";
    case "critical_fault":
      return "critical";
    default:
      return "info";
  }
}

/** event_value vocabularies shared by the generator and the live simulator. */
export const WARNING_VALUES = [
  "emg_signal_weak",
  "grip_slip_detected",
  "temperature_high_41C",
  "socket_pressure_high",
  "imu_drift",
];
export const ERROR_VALUES = ["motor_fault", "sensor_timeout", "emg_sensor_disconnected", "encoder_mismatch"];
export const CRITICAL_FAULT_VALUES = ["motor_overheat_shutdown", "bms_fault", "actuator_jam"];
export const CALIBRATION_VALUES = ["emg_auto", "imu_zero", "grip_force_auto"];
