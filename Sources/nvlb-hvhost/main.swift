// nvlb-hvhost: the lab's user-space Hyper-V host. See README "Lab".
print("nvlb-hvhost: not implemented yet")
