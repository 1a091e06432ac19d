# MWAA's startup script for the ecs runner: the settings the DAGs read while they parse, as the
# environment variables flight_orchestration.settings reads (no Airflow Variable set in the UI is
# read there). No provider: tests/orchestration/mwaa_startup_test.py renders it with the real
# Terraform engine and runs the script.

variable "ecs_settings" {
  description = "The flight_delay_ecs object (orchestration/README.md)."
  type        = any
}

output "content" {
  description = "The script."
  value = templatefile("${path.module}/startup.sh.tftpl", {
    runner = "ecs"
    # Single-quoted for the shell: each ' in the JSON closes the quote, escapes itself, reopens.
    ecs_settings = "'${replace(jsonencode(var.ecs_settings), "'", "'\\''")}'"
  })
}
