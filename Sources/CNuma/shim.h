#ifndef NVLB_CNUMA_SHIM_H
#define NVLB_CNUMA_SHIM_H
#include <numa.h>
#endif
