// The header's one function is static inline; this file gives the target a translation unit.
#include "CPrefetch.h"
