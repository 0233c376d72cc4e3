/* kan.h — libkan, the numerical core of Kanvas. */
#pragma once

#include "kan-error.h"
#include "kan-expr.h"
#include "kan-data.h"
#include "kan-spline.h"
#include "kan-symbolic.h"
#include "kan-model.h"
#include "kan-train.h"
#include "kan-session.h"
#include "kan-prune.h"
#include "kan-formula.h"
#include "kan-symfit.h"
#include "kan-lock.h"
#include "kan-discover.h"
#include "kan-units.h"
#include "kan-exprfit.h"
#include "kan-noise.h"
