// Errors as values: the data path never throws across module boundaries.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace streamcheck {

struct error {
  std::string message;
};

template <class T> class result {
public:
  result(T value) : v_(std::move(value)) {}
  result(error e) : v_(std::move(e)) {}

  explicit operator bool() const { return v_.index() == 0; }
  T &value() { return std::get<0>(v_); }
  const T &value() const { return std::get<0>(v_); }
  T &operator*() { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  const std::string &message() const { return std::get<1>(v_).message; }

private:
  std::variant<T, error> v_;
};

} // namespace streamcheck
