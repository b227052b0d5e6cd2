# STREAMCHECK_SANITIZE: address (or ON) = AddressSanitizer + UBSan; thread = ThreadSanitizer (the
# mock, the proxy's loops and the embedded mock are multi-threaded). The two cannot be combined.
string(TOLOWER "${STREAMCHECK_SANITIZE}" streamcheck_sanitize)
if(streamcheck_sanitize STREQUAL "on" OR streamcheck_sanitize STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(streamcheck_sanitize STREQUAL "thread")
  # TSan does not model atomic_thread_fence (g++ warns, -Werror=tsan): Asio's fenced blocks would
  # order memory behind its back. Asio's reactor and scheduler hand handlers over under mutexes,
  # which TSan does see, so the fences are disabled rather than the warning.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
  add_link_options(-fsanitize=thread)
elseif(STREAMCHECK_SANITIZE)
  message(FATAL_ERROR "STREAMCHECK_SANITIZE: expected OFF, address or thread, got '${STREAMCHECK_SANITIZE}'")
endif()
