import NVLBWire
import NVLBPolicy
import NVLBBalancing
// Module NVLBDataplane: see DESIGN.md for its role.
