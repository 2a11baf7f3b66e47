import NVLBWire
import NVLBPolicy
import NVLBBalancing
// Module NVLBDataplane: see docs/architecture.md "Layers" for its role.
