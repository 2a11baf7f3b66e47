#ifndef NVLB_CPCAP_SHIM_H
#define NVLB_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
