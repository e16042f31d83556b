//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

// imgupIn runs the imgup binary with a locale, as an operator's shell would.
func imgupIn(t *testing.T, lang string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(imgupBin, args...)
	cmd.Env = append(os.Environ(), "LANG="+lang, "LC_ALL=", "LC_MESSAGES=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestApplyInChinese runs a whole apply under LANG=zh_CN.UTF-8 on the real engine: the
// plan, the progress, the final table and the last line are Chinese, in the runbook's
// terms; the result is the same; --json and the record stay English.
func TestApplyInChinese(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "zh", deploytest.Options{})
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	webID := eng.Build(t, web, "ok", 0)
	archive := filepath.Join(s.dir, "image", "console-web-v4-pvt-4.1.76383.tar")
	eng.Save(t, archive, web)
	eng.Remove(t, web)

	out, errOut, code := imgupIn(t, "zh_CN.UTF-8", "apply", "--yes", "-C", s.dir, "--timeout", "90s", archive)
	if code != 0 {
		t.Fatalf("apply exited %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"部署 ", "1. 加载镜像", "从 console-web-v4-pvt-4.1.76383.tar 加载", "2-3. 修改.systemconfig 和 compose文件",
		"4. 重启", "5. 检查以下服务运行的是新镜像", "服务", "镜像 ID", "状态", "停机时间", "已更新", "完成：每个更新的服务都在运行新镜像。撤销这次更新：imgup rollback"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"重启：./deploy.sh restart", "检查（最多 1m30s）", "已修改 2 个文件"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the progress lacks %q:\n%s", want, errOut)
		}
	}
	after := s.waitHealthy(t, 30*time.Second)
	if got := after[eng.Project("zh")+"/console-web"].Image; got != webID {
		t.Fatalf("console-web runs %s, want %s", got, webID)
	}
	// The header row of the final table is aligned in terminal cells.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "服务") && !strings.Contains(l, "镜像") {
			t.Errorf("table header %q", l)
		}
	}

	// status in Chinese; its JSON in English.
	out, _, code = imgupIn(t, "zh_CN.UTF-8", "status", "-C", s.dir)
	if code != 0 || !strings.Contains(out, "没有不一致") || !strings.Contains(out, "COMPOSE 镜像") {
		t.Errorf("status (exit %d):\n%s", code, out)
	}
	out, _, _ = imgupIn(t, "zh_CN.UTF-8", "status", "--json", "-C", s.dir)
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep["schema"] != "imgup.status/v1" || strings.ContainsAny(out, "服务镜像") {
		t.Errorf("status --json changes with the language (%v):\n%s", err, out)
	}
	// An error with its hint, in Chinese, with the same exit code.
	_, errOut, code = imgupIn(t, "zh_CN.UTF-8", "plan", "-C", t.TempDir(), archive)
	if code != 1 || !strings.Contains(errOut, "不是 docker-compose 部署") || !strings.Contains(errOut, "请用 --dir 给出部署根目录") {
		t.Errorf("an error in Chinese (exit %d):\n%s", code, errOut)
	}
	// The same command with --lang en, and in an English locale, is English.
	_, errOut, _ = imgupIn(t, "zh_CN.UTF-8", "--lang", "en", "plan", "-C", t.TempDir(), archive)
	if !strings.Contains(errOut, "is not a docker-compose deployment") {
		t.Errorf("--lang en:\n%s", errOut)
	}
	out, _, _ = imgupIn(t, "en_US.UTF-8", "rollback", "--yes", "-C", s.dir)
	if !strings.Contains(out, "is undone") {
		t.Errorf("rollback in English:\n%s", out)
	}

	// The crash path in Chinese: an image that exits at once is undone within seconds;
	// the table shows what runs now, marked 已还原, and the failed attempt in a line of
	// its own; the reason and the undo are said in Chinese.
	bad := eng.Ref("encoo/rpa-rdp-service", "4.1.99999")
	eng.Build(t, bad, "exit", 0)
	crash := filepath.Join(t.TempDir(), "rpa-rdp.tar")
	eng.Save(t, crash, bad)
	eng.Remove(t, bad)
	start := time.Now()
	out, errOut, code = imgupIn(t, "zh_CN.UTF-8", "apply", "--yes", "-C", s.dir, "--timeout", "90s", crash)
	took := time.Since(start)
	if code != 3 {
		t.Fatalf("the crashing apply exited %d, want 3\n%s\n%s", code, out, errOut)
	}
	t.Logf("crashing image in Chinese: apply and undo in %v", took.Round(100*time.Millisecond))
	if took > 80*time.Second {
		t.Errorf("the crash was waited on: %v", took)
	}
	for _, want := range []string{"已还原", "失败的那次尝试：", "4.1.99999"} {
		if !strings.Contains(out, want) {
			t.Errorf("the final table lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"检查没有通过", "所有修改都已还原"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the error lacks %q:\n%s", want, errOut)
		}
	}
	s.expectFiles(t, nil)
}
