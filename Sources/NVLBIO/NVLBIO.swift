// Module NVLBIO: see DESIGN.md for its role.
