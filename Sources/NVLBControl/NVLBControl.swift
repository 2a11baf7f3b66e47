// Module NVLBControl: see DESIGN.md for its role.
