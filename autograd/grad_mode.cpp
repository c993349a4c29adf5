#include "grad_mode.hpp"

namespace xgrad {
namespace {
thread_local bool t_grad_enabled = true;
thread_local bool t_anomaly_enabled = false;
}  // namespace

bool GradMode::is_enabled() noexcept { return t_grad_enabled; }
void GradMode::set_enabled(bool enabled) noexcept { t_grad_enabled = enabled; }
bool AnomalyMode::is_enabled() noexcept { return t_anomaly_enabled; }
void AnomalyMode::set_enabled(bool enabled) noexcept { t_anomaly_enabled = enabled; }

}  // namespace xgrad
