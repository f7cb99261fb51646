// placeholder
#pragma once
#include <gale/detail/websocket_frame.hpp>
