// The app's own message table, Chinese first, English second. t(key, {name: ...}) fills {name}.
// Form labels come from the form definitions ({zh, en}) through pick().

const KEY = "ruhu-lang";

export const MESSAGES = {
  zh: {
    app_name: "入户调查", app_title: "入户 · 入户调查",
    online: "在线", offline: "离线", sync_now: "立即同步", syncing: "正在同步…", settings: "设置", back: "返回",
    pending_n: "还有 {n} 条记录待同步", all_synced: "全部已同步",
    offline_saved: "当前离线：记录已保存在本机，联网后自动同步", sync_offline: "网络不通，稍后自动重试", sync_failed: "同步出错", sync_failed_retry: "同步出错，稍后会自动重试；记录仍保存在本机", screen_failed: "页面显示出错，请返回后重试；记录仍保存在本机",
    update_ready: "应用已更新。", reload: "重新载入",
    // enrolment
    enrol_title: "登记本机", enrol_intro: "请扫描经办人在“调查人员手机”页面显示的二维码，或输入一次性登记码。本机会生成只保存在本机的签名密钥。",
    enrol_code: "登记码", device_name: "手机名称", enrol_button: "登记", enrol_fill: "请填写登记码和手机名称",
    enrol_needs_network: "登记需要联网", enrol_failed: "登记失败", enrolled_as: "已登记为 {name} 的手机",
    enrol_replace: "本机目前登记为 {name}。重新登记后，如换成其他人员，本机上的记录将被清除。", scan_console_qr: "扫描登记二维码（拍照）",
    default_device_name: "调查手机", enrol_again: "重新登记", not_enrolled: "本机尚未登记",
    auth_failed: "本机的登记已失效（可能已被停用），请重新登记后再同步。未同步的记录仍保存在本机。",
    // home
    my_assignments: "我的调查任务", no_assignments: "暂无调查任务。联网时点击“立即同步”获取。",
    last_pull: "上次获取任务：{when}", never_pulled: "尚未获取任务",
    deadline: "截止", provisional: "（暂定）", no_deadline: "无截止日期", days_left: "还剩 {n} 天", overdue_days: "已超期 {n} 天",
    assignment_revoked: "此任务已被撤销或改派", assignment_done: "此任务已完成：记录已上传", assignment_done_by_team: "此任务已完成：同组人员的记录已记入案件",
    assignment_closed: "此任务已不再开放（已完成、撤销或改派）；本机的记录仍会上传",
    teammate_records: "同组人员的记录", teammate_record: "{who} 已上传记录（{when}）：{status}",
    rec_incomplete: "等待补传照片或确认", rec_complete: "等待确认", rec_accepted: "已记入案件", rec_other: "已上传",
    one_record_hint: "一户只应有一份调查记录：请与同组人员共用这份记录（需要补充时由上传人修改），不要另起一份。",
    start_second_record: "仍要另起一份记录", second_record_q: "同组人员已为这户上传了记录，服务器通常不接受第二份独立记录。确定仍要另起一份吗？", assignment_gone: "此任务已不在本机", partner_title: "为同组人员确认",
    scan_partner: "扫码确认同组人员的调查", status_none: "未开始", status_draft: "草稿", status_ready: "待同步",
    status_syncing: "同步中", status_synced: "已同步", status_attention: "需处理",
    att_pending: "待同步", att_waiting: "等待对方上传", att_synced: "已确认", att_attention: "需处理",
    kind_home_visit: "入户调查", kind_reinvestigation: "重新调查", kind_rereview: "复核", kind_spot_check: "抽查", kind_appraisal: "民主评议记录",
    to_attest_title: "等待我确认的记录", to_attest_hint: "同组人员联网上传的调查记录会列在这里：核对后签名确认，不必扫码。",
    visit_on: "调查日期", summary_label: "调查综述", start_extra: "填写：{form}",
    amend: "修改这条记录", amend_q: "将以这条记录为底稿建立一条新记录（签字须重新签）；提交后它替换服务器上的这条记录，同组人员须重新确认。继续吗？",
    amend_blobs_missing: "本机已不再保存这条记录的照片或签字，无法在手机上修改，请联系经办人。", server_superseded: "已被修改后的新记录替换", server_replacing: "修改后的新记录已上传；同组人员确认、记入案件后才替换本记录，在此之前本记录仍有效",
    amends_record: "这条记录修改并替换 {id}", amend_sign_again: "修改后的记录是一份新的陈述：申请人和每位调查人员须重新签字，同组人员须重新确认。", amend_open: "已有一条修改中的记录",
    ios_hint: "在 iPhone 上请点击分享按钮，选择“添加到主屏幕”，从主屏幕打开本应用，离线记录才能长期保存。",
    // assignment
    other_records: "本机上的其他记录", address: "地址", team: "调查组", members: "家庭成员", declared: "申报情况", records: "本机记录",
    decl_income_title: "申请前6个月收入（元）", decl_property_title: "家庭财产", decl_other_item: "其他申报项目",
    decl_income_line: "合计 {total} 元；逐月（由早到晚）：{months}", decl_month: "前{n}月",
    decl_income_wages: "工资性收入", decl_income_business: "经营净收入", decl_income_property_income: "财产净收入（租金、利息等）",
    decl_income_pensions: "养老金、离退休金", decl_income_support: "赡养费、抚养费、扶养费", decl_income_transfers: "其他转移性收入",
    decl_income_other: "其他收入", decl_property_housing: "房产", decl_property_vehicles: "机动车辆", decl_property_deposits: "银行存款",
    decl_property_securities: "有价证券、基金、保险", decl_property_business: "工商登记、经营实体", decl_property_other: "其他财产",
    start_visit: "开始入户调查", continue_visit: "继续填写", not_co_residing: "不共同生活",
    rel_head: "户主", rel_spouse: "配偶", rel_child: "子女", rel_parent: "父母", rel_grandchild: "孙子女",
    rel_grandparent: "祖父母", rel_sibling: "兄弟姐妹", rel_other: "其他",
    form_missing: "本机还没有这份调查表，请联网同步后再试",
    // visit
    visit_gone: "本机上没有这条记录", autosave_on: "每次修改都会自动保存在本机", saved_at: "已保存 {time}", save_failed: "保存失败",
    not_saved: "未保存！请看下方红色提示", save_failed_toast: "没能保存到本机，请看页面上方的提示",
    save_failed_quota_toast: "手机存储空间已满，刚才的内容没能保存，请看页面上方的提示",
    save_failed_quota: "手机存储空间已满：刚才填写或签字的内容没有保存到本机，重新载入或关闭应用后会丢失。",
    save_failed_other: "刚才填写或签字的内容没能保存到本机，重新载入或关闭应用后会丢失。",
    save_failed_what: "请不要关闭或刷新本页面。请先清理手机空间（删除不需要的照片、视频或应用），然后点“重新保存”；能联网时点“立即同步”把已完成的记录传走以腾出空间；仍不行时，在“设置”中导出未同步记录交给经办人。",
    save_again: "重新保存", saved_again: "已重新保存到本机",
    gps_title: "位置", gps_start: "开始时", gps_finish: "结束时", gps_pending: "正在定位…", gps_refused: "未允许定位（记录为拒绝）",
    gps_unavailable: "无法定位（记录为拒绝），可重试", gps_at: "{lat}, {lon}（误差约 {acc} 米）", gps_retry: "重新定位",
    investigators: "参加调查的人员", investigators_hint: "至少 {n} 人。每人须在下方签字，并用本人手机确认。", me: "本人",
    yes: "是", no: "否", choose: "请选择", required: "必填", remove: "删除", clear: "清除",
    item_n: "{title} 第 {n} 项", add_item: "添加：{title}", remove_item_q: "删除第 {n} 项？",
    id_info: "出生日期 {birth}，{sex}", male: "男", female: "女",
    add_photo: "拍照 / 选择照片", add_fingerprint: "拍摄手印", remove_photo_q: "删除这张照片？", slot_full: "此栏最多 {n} 张",
    time_from_phone: "（手机时间）", photo_duplicate: "这张照片已经添加过", photo_failed: "照片处理失败", cannot_write: "申请人不能书写，改为按手印拍照",
    sign_here: "{name} 在此签字", not_signed: "未签字",
    finalise: "完成调查并锁定", finalise_q: "完成后记录将被锁定，不能再修改。确定完成吗？",
    fix_first: "还有 {n} 处需要填写或修改", problems_title: "还有 {n} 处问题：",
    team_too_small: "参加调查的人员至少需要 {n} 人", investigator_unsigned: "{name} 尚未签字",
    sync_progress: "同步进度", server_accepted: "服务器已收到，并已记入案件", server_waiting: "服务器已收到，等待同组人员确认（已确认 {n} 人）",
    kept_until: "本机保留只读副本至 {when}", will_retry: "网络问题，将于 {when} 自动重试",
    partner_confirm: "同组人员确认", qr_explain: "请同组调查人员用本人已登记的手机扫描此二维码，核对摘要后签名确认。",
    qr_alt: "供同组人员扫描的确认二维码", hash_short: "内容摘要：",
    reopen: "修改后重新提交", reopen_q: "服务器未接收这条记录。要改正后重新提交吗？", retry: "重试",
    // partner
    scan_explain: "扫描同组人员手机上显示的确认二维码。没有网络也可以确认，联网后自动上传。",
    scan_with_camera: "打开相机扫码", scan_from_photo: "从照片识别二维码", reading: "正在识别…",
    camera_failed: "无法打开相机", qr_not_found: "没有识别到二维码，请重试", qr_not_ours: "这不是入户调查的确认二维码",
    household: "家庭", visit_id: "记录编号", unknown_household: "（本机没有这项任务的资料）",
    compare_hash: "请与对方手机上显示的内容摘要核对，一致后再签名。",
    checking_server: "正在向服务器核对…", offline_sign_ok: "当前离线：可以先确认，联网后自动上传。",
    server_hash_same: "服务器上的记录与二维码一致", server_hash_differs: "服务器上的记录与二维码不一致，不能确认！",
    server_not_yet: "服务器上还没有这条记录（对方尚未上传），可以先确认。",
    via_qr_digest: "记录经扫码传到本机：以下成员、收入合计和意见来自对方手机上的二维码，即记录本身。",
    via_qr_envelope: "记录经扫码传到本机；以下内容来自服务器上的这条记录本身（本机已核对，与二维码的内容摘要一致）。",
    via_list_envelope: "记录来自服务器的待确认列表（未扫码）；以下内容来自这条记录本身（本机已重新计算内容摘要，一致）。",
    via_list_only: "记录来自服务器的待确认列表（未扫码）；服务器未提供记录全文，请在对方手机上核对内容。",
    via_none: "二维码只有内容摘要，不含记录内容：请在对方手机上逐项核对后再签名。",
    envelope_mismatch: "服务器提供的记录内容与内容摘要不一致，不能确认！请联系经办人。",
    items_n: "{n} 项", members_n: "家庭成员（{n}人）", income_total: "近{n}个月收入合计", yuan: "{amount} 元", recommendation_label: "调查人员意见",
    summary_on_partner_phone: "二维码不含综述，请在对方手机上阅读", no_record_content: "本机看不到记录内容，请在对方手机上逐项核对。",
    members_added: "记录中新增成员：{names}", members_missing: "记录中没有本机任务资料里的：{names}",
    compare_hash_list: "请确认以上内容属实后再签名。", server_hash_same_list: "服务器上的记录与列表中的一致",
    listed_gone: "这条记录已不在待确认列表中（可能已确认或已被替换）",
    not_on_team: "你不在这项任务的调查组中，不能确认", already_signed: "本机已确认过这条记录",
    confirm_explain: "我确认参加了这次入户调查，记录内容属实。", confirm_and_sign: "确认并签名", signed_ok: "已签名确认，将随下次同步上传",
    // settings
    this_phone: "本机", signed_in_as: "登记人员", device_id: "设备编号", language: "语言", storage: "存储空间",
    storage_usage: "已使用 {used}，剩余约 {free}", storage_unknown: "无法获取存储空间信息",
    storage_persisted: "已开启持久存储：浏览器不会自动清除本机记录", storage_not_persisted: "尚未开启持久存储，空间紧张时浏览器可能清除本机记录。",
    storage_persist: "开启持久存储", storage_persist_refused: "浏览器未同意持久存储，请将应用添加到主屏幕后再试",
    storage_low: "手机存储空间不足（剩余 {free}），请尽快同步或导出记录。",
    export_title: "导出未同步记录", export_explain: "万不得已时使用：把本机 {n} 条未同步的记录（含照片和签字）保存为一个文件，交给经办人。",
    export_button: "导出为文件", export_failed: "导出失败：请清理手机空间后重试，或联系经办人", exported: "已导出 {n} 条记录：{name}",
    sync_log: "同步日志", log_empty: "暂无记录", log_retry: "重试", log_attention: "需处理", log_synced: "已同步", log_attested: "已确认",
  },
  en: {
    app_name: "Field visits", app_title: "Ruhu · field visits",
    online: "Online", offline: "Offline", sync_now: "Sync now", syncing: "Syncing…", settings: "Settings", back: "Back",
    pending_n: "{n} records waiting to sync", all_synced: "Everything is synced",
    offline_saved: "Offline: saved on this phone, it syncs when the network is back", sync_offline: "No network; will retry automatically", sync_failed: "Sync error", sync_failed_retry: "Sync error; it retries by itself and the records stay on the phone", screen_failed: "This screen could not be shown; go back and try again (the records stay on the phone)",
    update_ready: "The app was updated.", reload: "Reload",
    enrol_title: "Enrol this phone", enrol_intro: "Scan the QR code the caseworker shows on the “Investigators' phones” page, or type the one-time code. This phone makes a signing key that never leaves it.",
    enrol_code: "Enrolment code", device_name: "Phone name", enrol_button: "Enrol", enrol_fill: "Enter the code and a name for the phone",
    enrol_needs_network: "Enrolment needs the network", enrol_failed: "Enrolment failed", enrolled_as: "Enrolled as {name}'s phone",
    enrol_replace: "This phone is enrolled for {name}. Enrolling it for someone else clears the records on it.", scan_console_qr: "Scan the enrolment QR (photo)",
    default_device_name: "Field phone", enrol_again: "Enrol again", not_enrolled: "This phone is not enrolled",
    auth_failed: "This phone's enrolment is no longer valid (it may have been revoked). Enrol again to sync; unsynced records stay on the phone.",
    my_assignments: "My assignments", no_assignments: "No assignments. Tap “Sync now” while online to fetch them.",
    last_pull: "Assignments fetched: {when}", never_pulled: "Assignments not fetched yet",
    deadline: "Due", provisional: " (provisional)", no_deadline: "No deadline", days_left: "{n} days left", overdue_days: "{n} days overdue",
    assignment_revoked: "This assignment was cancelled or reassigned", assignment_done: "This assignment is done: the record was sent", assignment_done_by_team: "This assignment is done: a teammate's record was recorded on the case",
    assignment_closed: "This assignment is no longer open (done, cancelled or reassigned); the record on this phone is still sent",
    teammate_records: "Teammates' records", teammate_record: "{who} sent a record ({when}): {status}",
    rec_incomplete: "waiting for photos or confirmation", rec_complete: "waiting for confirmation", rec_accepted: "recorded on the case", rec_other: "sent",
    one_record_hint: "One household, one record: share this record with your teammate (the sender amends it when something must be added) instead of starting another.",
    start_second_record: "Start another record anyway", second_record_q: "A teammate already sent a record for this household; the server normally refuses a second independent record. Start another anyway?", assignment_gone: "This assignment is no longer on the phone", partner_title: "Confirm for your partner",
    scan_partner: "Scan to confirm a partner's visit", status_none: "Not started", status_draft: "Draft", status_ready: "Ready to sync",
    status_syncing: "Syncing", status_synced: "Synced", status_attention: "Needs attention",
    att_pending: "Waiting to sync", att_waiting: "Waiting for the partner's upload", att_synced: "Confirmed", att_attention: "Needs attention",
    kind_home_visit: "Home visit", kind_reinvestigation: "Re-investigation", kind_rereview: "Re-review", kind_spot_check: "Spot check", kind_appraisal: "Democratic appraisal record",
    to_attest_title: "Waiting for my confirmation", to_attest_hint: "Records a partner uploaded while online are listed here: check them and sign, no QR needed.",
    visit_on: "Visit date", summary_label: "Summary", start_extra: "Fill in: {form}",
    amend: "Amend this record", amend_q: "A new record will be made from this one (signatures must be drawn again); once sent it replaces this record on the server and the team must confirm again. Go on?",
    amend_blobs_missing: "This phone no longer keeps this record's photos or signatures, so it cannot be amended here; ask the caseworker.", server_superseded: "Replaced by an amended record", server_replacing: "The amended record was sent; it replaces this one only once the team has confirmed it and it is recorded on the case — until then this record stands",
    amends_record: "This record amends and replaces {id}", amend_sign_again: "The amended record is a new statement: the applicant and every investigator sign again, and the partner confirms again.", amend_open: "An amendment is already being made",
    ios_hint: "On an iPhone, tap Share and “Add to Home Screen”, and open the app from there, so offline records are kept.",
    other_records: "Other records on this phone", address: "Address", team: "Team", members: "Household members", declared: "Declared", records: "Records on this phone",
    decl_income_title: "Income over the 6 months before applying (yuan)", decl_property_title: "Property", decl_other_item: "Other declared item",
    decl_income_line: "total {total} yuan; month by month (oldest first): {months}", decl_month: "M-{n}",
    decl_income_wages: "Wages", decl_income_business: "Net business income", decl_income_property_income: "Net property income (rent, interest)",
    decl_income_pensions: "Pensions", decl_income_support: "Support payments from relatives", decl_income_transfers: "Other transfers",
    decl_income_other: "Other income", decl_property_housing: "Housing", decl_property_vehicles: "Vehicles", decl_property_deposits: "Bank deposits",
    decl_property_securities: "Securities, funds, insurance", decl_property_business: "Registered businesses", decl_property_other: "Other property",
    start_visit: "Start the home visit", continue_visit: "Continue", not_co_residing: "not living with the household",
    rel_head: "Head", rel_spouse: "Spouse", rel_child: "Child", rel_parent: "Parent", rel_grandchild: "Grandchild",
    rel_grandparent: "Grandparent", rel_sibling: "Sibling", rel_other: "Other",
    form_missing: "This form is not on the phone yet: sync while online and try again",
    visit_gone: "No such record on this phone", autosave_on: "Every change is saved on this phone", saved_at: "Saved {time}", save_failed: "Saving failed",
    not_saved: "NOT saved: see the red warning below", save_failed_toast: "Could not save on this phone: see the warning at the top",
    save_failed_quota_toast: "The phone's storage is full and the last change was not saved: see the warning at the top",
    save_failed_quota: "The phone's storage is full: what you just typed or signed is not saved on this phone and is lost on a reload or when the app closes.",
    save_failed_other: "What you just typed or signed could not be saved on this phone and is lost on a reload or when the app closes.",
    save_failed_what: "Do not close or reload this page. Free some space (delete photos, videos or apps you do not need), then tap “Save again”; when online, tap “Sync now” to send finished records and free space; if that fails, export the unsynced records in Settings for the caseworker.",
    save_again: "Save again", saved_again: "Saved on this phone again",
    gps_title: "Location", gps_start: "At the start", gps_finish: "At the finish", gps_pending: "Locating…", gps_refused: "Location not allowed (recorded as refused)",
    gps_unavailable: "No position (recorded as refused); try again", gps_at: "{lat}, {lon} (±{acc} m)", gps_retry: "Locate again",
    investigators: "Investigators on this visit", investigators_hint: "At least {n}. Each signs below and confirms on their own phone.", me: "me",
    yes: "Yes", no: "No", choose: "Choose", required: "required", remove: "Remove", clear: "Clear",
    item_n: "{title}, item {n}", add_item: "Add: {title}", remove_item_q: "Remove item {n}?",
    id_info: "Born {birth}, {sex}", male: "male", female: "female",
    add_photo: "Take / choose a photo", add_fingerprint: "Photograph the fingerprint", remove_photo_q: "Remove this photo?", slot_full: "At most {n} here",
    time_from_phone: "(phone clock)", photo_duplicate: "This photo was already added", photo_failed: "The photo could not be processed", cannot_write: "The applicant cannot write: photograph a fingerprint instead",
    sign_here: "{name}: sign here", not_signed: "Not signed",
    finalise: "Finish and lock", finalise_q: "A finished record is locked and cannot be changed. Finish it now?",
    fix_first: "{n} things to fill in or correct", problems_title: "{n} problems:",
    team_too_small: "At least {n} investigators are needed", investigator_unsigned: "{name} has not signed",
    sync_progress: "Sync progress", server_accepted: "Received by the server and recorded on the case", server_waiting: "Received by the server; waiting for the partner's confirmation ({n} confirmed)",
    kept_until: "A read-only copy stays on this phone until {when}", will_retry: "Network problem; retrying at {when}",
    partner_confirm: "Partner's confirmation", qr_explain: "Your partner scans this QR code with their own enrolled phone, checks the summary and signs.",
    qr_alt: "QR code for the partner to scan", hash_short: "Content digest: ",
    reopen: "Correct and submit again", reopen_q: "The server did not accept this record. Correct it and submit again?", retry: "Retry",
    scan_explain: "Scan the confirmation QR code on your partner's phone. Works offline; the confirmation is sent with the next sync.",
    scan_with_camera: "Scan with the camera", scan_from_photo: "Read the QR from a photo", reading: "Reading…",
    camera_failed: "The camera could not be opened", qr_not_found: "No QR code found; try again", qr_not_ours: "This is not a home-visit confirmation code",
    household: "Household", visit_id: "Record id", unknown_household: "(this assignment is not on the phone)",
    compare_hash: "Compare with the digest shown on your partner's phone before you sign.",
    checking_server: "Checking with the server…", offline_sign_ok: "Offline: you can confirm now; it is sent when online.",
    server_hash_same: "The server's record matches the QR code", server_hash_differs: "The server's record does NOT match the QR code: do not confirm!",
    server_not_yet: "The server does not have this record yet (not uploaded); you can confirm now.",
    via_qr_digest: "The record reached this phone by QR code: the members, income total and recommendation below come from the QR on your partner's phone, i.e. from the record itself.",
    via_qr_envelope: "The record reached this phone by QR code; what is shown below comes from the server's copy of this record (checked here: same content digest as the QR).",
    via_list_envelope: "The record came from the server's list of records to confirm (no QR scanned); what is shown below comes from the record itself (its content digest recomputed here: it matches).",
    via_list_only: "The record came from the server's list (no QR scanned); the server did not send its content: check it on your partner's phone.",
    via_none: "This QR holds only the content digest, not the record: check everything on your partner's phone before signing.",
    envelope_mismatch: "The record the server sent does not match its content digest: do not confirm! Contact the caseworker.",
    items_n: "{n} items", members_n: "Household members ({n})", income_total: "Income over {n} months, total", yuan: "{amount} yuan", recommendation_label: "The investigators' recommendation",
    summary_on_partner_phone: "The QR holds no summary: read it on your partner's phone", no_record_content: "This phone cannot see the record's content: check it on your partner's phone.",
    members_added: "New in the record: {names}", members_missing: "Not in the record but on this phone's assignment: {names}",
    compare_hash_list: "Sign only if what is shown above is true.", server_hash_same_list: "The server's record matches the list",
    listed_gone: "This record is no longer waiting for confirmation (confirmed or replaced)",
    not_on_team: "You are not on this assignment's team and cannot confirm", already_signed: "This phone has already confirmed this record",
    confirm_explain: "I confirm that I took part in this home visit and that the record is true.", confirm_and_sign: "Confirm and sign", signed_ok: "Signed; it is sent with the next sync",
    this_phone: "This phone", signed_in_as: "Enrolled for", device_id: "Device id", language: "Language", storage: "Storage",
    storage_usage: "{used} used, about {free} free", storage_unknown: "Storage information is not available",
    storage_persisted: "Persistent storage is on: the browser will not clear the records", storage_not_persisted: "Persistent storage is off: the browser may clear records when space is short.",
    storage_persist: "Turn on persistent storage", storage_persist_refused: "The browser refused; add the app to the home screen and try again",
    storage_low: "The phone is running out of space ({free} left): sync or export soon.",
    export_title: "Export unsynced records", export_explain: "The last resort: save the {n} unsynced records on this phone (photos and signatures included) to one file for the caseworker.",
    export_button: "Export to a file", export_failed: "Export failed: free some space and try again, or ask the caseworker", exported: "Exported {n} records: {name}",
    sync_log: "Sync log", log_empty: "Nothing yet", log_retry: "retry", log_attention: "needs attention", log_synced: "synced", log_attested: "confirmed",
  },
};

let current = (() => {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved === "zh" || saved === "en") return saved;
  } catch {
    // storage blocked: fall back to Chinese
  }
  return "zh"; // Chinese first, whatever the phone's language
})();

export function lang() {
  return current;
}

export function setLang(code) {
  current = code === "en" ? "en" : "zh";
  try {
    localStorage.setItem(KEY, current);
  } catch {
    // not remembered, still switched
  }
}

/** Is there a message for `key` (for values that may have none, like an unknown relation)? */
export function has(key) {
  return key in MESSAGES.zh;
}

export function t(key, params = {}) {
  const text = MESSAGES[current][key] ?? MESSAGES.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** The current language's text of a {zh, en} pair (form labels, server messages). */
export function pick(pair) {
  if (!pair) return "";
  return pair[current] || pair.zh || pair.en || "";
}
