"""What VMs boot from and write to: templates and ISOs (volumes and snapshots join here)."""
