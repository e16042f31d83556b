package i18n

// zhKube are the words of a Kubernetes deployment: its manifests (internal/kubefile,
// internal/deploy), the cluster (internal/kube) and the kubectl restart target.
var zhKube = map[string]string{
	"   into every node's containerd, each sent only the blobs it lacks:\n":                                   "   导入每个节点的 containerd，每个节点只发送它缺少的 blob：\n",
	"%s: imgup.yaml says kubernetes:, and no *.yaml file here holds a Kubernetes object":                      "%s：imgup.yaml 写了 kubernetes:，但这里没有哪个 *.yaml 文件含有 Kubernetes 对象",
	"--restart kubectl: no stack of %s is Kubernetes manifests":                                               "--restart kubectl：%s 中没有由 Kubernetes 清单组成的 stack",
	"daemonset %s: %d of %d pods available":                                                                   "daemonset %s：%d/%d 个 pod 可用",
	"daemonset %s: %d of %d scheduled pods updated":                                                           "daemonset %s：已调度的 pod 中 %d/%d 个已更新",
	"daemonset %s: waiting for its new spec to be observed":                                                   "daemonset %s：等待新的 spec 被控制器观察到",
	"deployment %s exceeded its progress deadline: %s":                                                        "deployment %s 超过了进度期限：%s",
	"deployment %s: %d of %d replicas updated":                                                                "deployment %s：%d/%d 个副本已更新",
	"deployment %s: %d of %d updated replicas available":                                                      "deployment %s：已更新的副本中 %d/%d 个可用",
	"deployment %s: %d old replicas are pending termination":                                                  "deployment %s：%d 个旧副本等待终止",
	"deployment %s: waiting for its new spec to be observed":                                                  "deployment %s：等待新的 spec 被控制器观察到",
	"imgup reaches no node's containerd: give each node's address in imgup.yaml (nodes:)":                     "imgup 连不上任何节点的 containerd：请在 imgup.yaml 中给出每个节点的地址（nodes:）",
	"kubectl apply -f of a Kubernetes stack's manifests, rolled out by Kubernetes":                            "对 Kubernetes stack 的清单执行 kubectl apply -f，由 Kubernetes 滚动更新",
	"namespace %s has no workload %s":                                                                         "命名空间 %s 中没有工作负载 %s",
	"pod %s on node %s: %s: %s":                                                                               "节点 %[2]s 上的 pod %[1]s：%[3]s：%[4]s",
	"pod %s on node %s: container %s in CrashLoopBackOff (exit code %s, %d restarts); its last log lines: %s": "节点 %[2]s 上的 pod %[1]s：容器 %[3]s 处于 CrashLoopBackOff（退出码 %[4]s，已重启 %[5]d 次）；最后几行日志：%[6]s",
	"restarting %s: kubectl %s (in %s; Kubernetes rolls each changed workload out by its strategy)":           "重启 %s：kubectl %s（在 %s；Kubernetes 按各工作负载的策略滚动更新改动的工作负载）",
	"statefulset %s: %d of %d replicas ready":                                                                 "statefulset %s：%d/%d 个副本就绪",
	"statefulset %s: %d of %d replicas updated to revision %s":                                                "statefulset %s：%d/%d 个副本已更新到修订版本 %s",
	"statefulset %s: waiting for its new spec to be observed":                                                 "statefulset %s：等待新的 spec 被控制器观察到",
	"the Kubernetes API at %s: %v":                                                                            "%s 上的 Kubernetes API：%v",
	"the kubeconfig: %v":                                                                                      "kubeconfig：%v",
	"the manifests in the folder (kubectl apply -f)":                                                          "文件夹中的清单（kubectl apply -f）",
}
