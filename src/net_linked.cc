// LoadNet for a binary that links the HTTP code itself (tests, benchmarks): nothing to load.
#include "mdfetch/net.h"

namespace mdfetch {

Result<const NetApi*> LoadNet() { return &LinkedNet(); }

}  // namespace mdfetch
