#ifndef BGPWIRE_FUZZ_ENTRY_H
#define BGPWIRE_FUZZ_ENTRY_H

/// The process entry point SwiftPM links the BGPWireFuzz executable with (see entry.c).
int BGPWireFuzz_main(int argc, char **argv);

#endif
