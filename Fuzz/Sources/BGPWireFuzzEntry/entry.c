// The BGPWireFuzz executable's entry point under SwiftPM's `--defsym main=BGPWireFuzz_main`
// (see FlowWireFuzzEntry/entry.c for why): hands over to libFuzzer's driver.
#include <stddef.h>
#include <stdint.h>
#include "BGPWireFuzzEntry.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int BGPWireFuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
