package e2e

import "github.com/chromedp/cdproto/runtime"

type runtimeEvaluate = runtime.EvaluateParams
