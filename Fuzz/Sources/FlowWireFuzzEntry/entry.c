// SwiftPM links executables on ELF platforms with `--defsym main=<Module>_main`, so that tests
// can link them. Built with -parse-as-library (libFuzzer owns main), the Swift module defines
// no such symbol and the link fails; this provides it and hands over to libFuzzer's driver.
// Where SwiftPM does not rename the entry point, libFuzzer's own main is used and this
// function is simply unused.
#include <stddef.h>
#include <stdint.h>
#include "FlowWireFuzzEntry.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int FlowWireFuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
