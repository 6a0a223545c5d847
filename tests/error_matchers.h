// error_matchers.h — the one helper every bad-input test uses: run a callable and expect a wsdol::Error whose
// message contains given pieces (and, optionally, starts with a prefix such as the op name).
#pragma once
#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace wsdol::test {

// Runs fn and expects a wsdol::Error whose message starts with `prefix` (skipped when empty) and contains every
// piece. Nothing thrown, or another exception type, is a test failure.
inline void expect_error(const std::function<void()>& fn, const std::string& prefix,
                         const std::vector<std::string>& pieces) {
    try {
        fn();
    } catch (const Error& e) {
        const std::string msg = e.what();
        if (!prefix.empty()) {
            EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "message does not start with '" << prefix << "': " << msg;
        }
        for (const std::string& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
        return;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected wsdol::Error, got another exception: " << e.what();
        return;
    }
    ADD_FAILURE() << "no wsdol::Error thrown (expected one mentioning '" << (pieces.empty() ? prefix : pieces.front())
                  << "')";
}

// Runs fn and expects a wsdol::Error whose message contains every piece.
inline void expect_error(const std::function<void()>& fn, const std::vector<std::string>& pieces) {
    expect_error(fn, std::string(), pieces);
}

}  // namespace wsdol::test
