#pragma once
// The data layer (xgrad::data): datasets, the DataLoader, splits, IDX and CSV readers, scalers.

#include "csv.hpp"
#include "dataloader.hpp"
#include "dataset.hpp"
#include "idx.hpp"
#include "scaler.hpp"
