#ifndef PATHFLOW_CPCAP_SHIM_H
#define PATHFLOW_CPCAP_SHIM_H
/* libpcap, from Debian's libpcap-dev. */
#include <pcap/pcap.h>
#endif
