"""Virtual machines: lifecycle, launches, placement (planner and host capacity), offerings, power sync."""
