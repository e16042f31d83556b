package i18n

// zhRestart are the words of how imgup reads a restart: the stacks its compose calls
// define, and where it would stop.
var zhRestart = map[string]string{
	// Where a stack's files and project come from.
	"%s, in compose's order":  "%s，按 compose 的顺序",
	"compose's default in %s": "%s 里 compose 的默认文件",
	"the folder's compose files: compose's default finds none there": "该目录里的 compose 文件：compose 的默认规则在那里找不到文件",
	"%s line %d": "%s 第 %d 行",
	"compose's default in the deployment root":                                                                "部署根目录里 compose 的默认文件",
	"the restart stops (%s) before it runs compose, and no container runs yet; say it with --project %s=NAME": "重启在运行 compose 之前就停下了（%s），也还没有容器在运行；请用 --project %s=名称 指明",
	"the folder's compose files: the restart's compose calls could not be followed here":                      "该目录里的全部 compose 文件：这里跟不上重启脚本里的 compose 调用",
	"imgup.yaml":                                               "imgup.yaml",
	"the labels of its containers":                             "它的容器的标签",
	"from %s (%s), as compose resolves it":                     "来自 %s（%s），按 compose 的解析",
	"the restart gives compose several project names here: %s": "重启在这里给了 compose 好几个项目名：%s",
	"(in %s)": "（在 %s）",
	"%s: the restart (%s) ends at %s line %d with exit status %d before it runs compose, and no compose file is in %s: say the stacks in imgup.yaml (stacks:), or fix what stops it": "%s：重启（%s）在运行 compose 之前就在 %s 第 %d 行以退出码 %d 结束了，而 %s 里没有 compose 文件：请在 imgup.yaml 里写明 stacks:，或者修好让它停下的地方",

	// Where the restart stops.
	"   STOPS: the restart ends at %s line %d with exit status %d (%s)\n":                                                        "   会停下：重启在 %s 第 %d 行以退出码 %d 结束（%s）\n",
	"   STOPS: the restart ends with exit status %d\n":                                                                           "   会停下：重启以退出码 %d 结束\n",
	"      a prompt meets the end of input: %q at %s line %d; imgup runs the restart without a terminal, so it gets no answer\n": "      提问遇到输入结束：%q（%s 第 %d 行）；imgup 在没有终端的情况下运行重启，没人能回答它\n",
	"      %s at %s line %d needs the network; this machine has no registry, so it fails\n":                                      "      %s（%s 第 %d 行）需要网络；这台机器没有镜像仓库，所以它会失败\n",
	"      it still reaches %s at %s line %d before it stops\n":                                                                  "      它停下之前仍会执行到 %s（%s 第 %d 行）\n",
	"      it never reaches its up, and it has run %s at %s line %d by then: the deployment would stay stopped\n":                "      它到不了 up，而在那之前已经执行了 %s（%s 第 %d 行）：部署会一直停着\n",
	"      it stops before any compose call that starts containers\n":                                                            "      它在任何启动容器的 compose 调用之前就停下了\n",
	"      its last lines:\n": "      它最后输出的几行：\n",
	"   REFUSED: apply refuses this restart; give imgup.yaml a restart: command that asks nothing and pulls nothing, or choose --restart services\n": "   拒绝：apply 不会执行这个重启；请在 imgup.yaml 里给一个不提问、不拉取镜像的 restart: 命令，或者选 --restart services\n",
	"exit status %d": "退出码 %d",
	"it asks %q at %s line %d, and imgup restarts without a terminal":  "它在 %[2]s 第 %[3]d 行提问 %[1]q，而 imgup 重启时没有终端",
	"%s at %s line %d needs a registry, and this machine reaches none": "%s（%s 第 %d 行）需要镜像仓库，而这台机器连不到任何仓库",
	"the restart (%s) would stop at %s line %d: %v; nothing was changed: give imgup.yaml a restart: command that asks nothing and pulls nothing, or choose --restart services": "重启（%s）会在 %s 第 %d 行停下：%v；什么都没有改：请在 imgup.yaml 里给一个不提问、不拉取镜像的 restart: 命令，或者选 --restart services",
	"the restart (%s) would stop: %v; nothing was changed: give imgup.yaml a restart: command that asks nothing and pulls nothing, or choose --restart services":               "重启（%s）会停下：%v；什么都没有改：请在 imgup.yaml 里给一个不提问、不拉取镜像的 restart: 命令，或者选 --restart services",

	// Where a variable's value is written.
	"its image comes from ${%s}, which is set in neither .systemconfig nor .env of %s":                                                                                                           "它的镜像来自 ${%s}，而 %s 的 .systemconfig 和 .env 里都没有设置它",
	"its image comes from ${%s}, which the control script exports; imgup cannot tell which of its characters hold the tag":                                                                       "它的镜像来自 ${%s}，由控制脚本导出；imgup 分不清其中哪些字符是标签",
	"its image comes from ${%s}, which the control script computes and exports (%s); no file the script reads holds %q alone or as one entry's value, so imgup cannot trace it: edit it by hand": "它的镜像来自 ${%s}，由控制脚本算出并导出（%s）；脚本读的文件里没有一个单独写着 %q 或以它为某一项的值，imgup 追不到它的来源：请手工修改",
	"its image comes from ${%s}, which the control script computes and exports (%s); %q stands in several files it reads (%s), so imgup cannot tell which one makes it: edit it by hand":         "它的镜像来自 ${%s}，由控制脚本算出并导出（%s）；%q 出现在它读的好几个文件里（%s），imgup 分不清是哪一个决定它：请手工修改",
	"service %s/%s: its image comes from ${%s}, which the control script computes when it runs; only its restart computes it again: restart with --restart deploy":                               "服务 %s/%s：它的镜像来自 ${%s}，是控制脚本运行时算出来的；只有它自己的重启会重新计算：请用 --restart deploy 重启",
}
