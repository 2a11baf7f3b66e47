import NVLBWire
