// Module NVLBDataplane: see DESIGN.md for its role.
