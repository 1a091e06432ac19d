# MWAA's startup script: the settings the DAGs read while they parse, as the environment
# variables flight_orchestration.settings reads (no Airflow Variable set in the UI is read
# there). No provider: tests/orchestration/mwaa_startup_test.py renders it with the real
# Terraform engine and runs the script.

variable "ecs_settings" {
  description = "The flight_delay_ecs object (orchestration/README.md). Null: the local runner, nothing exported for it."
  type        = any
  default     = null
}

variable "run_timeout_hours" {
  description = "flight_delay_run_timeout_hours, hours above 0. Null exports nothing: the DAGs' own default."
  type        = number
  default     = null
}

output "content" {
  description = "The script."
  value = templatefile("${path.module}/startup.sh.tftpl", {
    runner = var.ecs_settings == null ? null : "ecs"
    # Single-quoted for the shell: each ' in the JSON closes the quote, escapes itself, reopens.
    ecs_settings      = var.ecs_settings == null ? null : "'${replace(jsonencode(var.ecs_settings), "'", "'\\''")}'"
    run_timeout_hours = var.run_timeout_hours
  })
}
