#ifndef FLOWWIRE_FUZZ_ENTRY_H
#define FLOWWIRE_FUZZ_ENTRY_H

/// The process entry point SwiftPM links the FlowWireFuzz executable with (see entry.c).
int FlowWireFuzz_main(int argc, char **argv);

#endif
